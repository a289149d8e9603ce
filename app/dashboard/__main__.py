"""`python -m app.dashboard [flower options]` (what `switchyard flower` runs)."""
from app.dashboard.launcher import main

main()
