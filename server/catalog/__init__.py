"""The repair catalogue: order types (一级) and subtypes (二级) with their fees and booking."""
