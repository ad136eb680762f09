"""What a repair costs: specs, labour, materials and their stock, service items, settlement."""
