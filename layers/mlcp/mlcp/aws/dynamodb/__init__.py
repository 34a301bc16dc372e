"""DynamoDB adapters, one module per capability's tables (training, batch, scaling) on one shared base (table)."""
