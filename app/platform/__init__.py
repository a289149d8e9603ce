"""Platform code shared by every pipeline (not specific to one domain)."""
