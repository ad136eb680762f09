"""Photos: checked, stripped of metadata, stored unguessably, shown to those who may see them."""
