"""The app gateway: routes app origins to pages, assets and sandboxed functions."""
