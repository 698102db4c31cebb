"""Min/max replenishment: pick faces from reserve stock, warehouses from suppliers."""
