"""Photos: checked, stripped of metadata, stored under unguessable names, shown to who may see them."""
