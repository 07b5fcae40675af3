"""The web IDE: its browser code (``web/ide``) built once per installation, and its pages.

The IDE is a client of the control plane's HTTP API and nothing more; it runs on the
control plane's origin, which tenant apps never share.
"""
