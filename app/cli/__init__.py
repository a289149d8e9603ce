"""`switchyard`: the operators' console script."""
