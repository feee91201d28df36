"""HTTP routes: thin adapters that decode, authenticate, and hand data to the bridge."""
