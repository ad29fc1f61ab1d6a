"""Bundled sandboxes of the external APIs (stats server, Riot API), served over real HTTP.

They speak the real APIs' shapes so the demo and the tests run with no account and no network.
Nothing outside this package knows they are sandboxes: the pipelines only see a URL.
"""
