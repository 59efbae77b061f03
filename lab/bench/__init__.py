"""``qdlab bench``: strategies compared on simulated campaigns (campaign) and benchmark suites (suite), on Dask."""
