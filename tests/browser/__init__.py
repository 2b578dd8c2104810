"""Browser tier: real JupyterLab driven by Playwright and Debian's chromium.

The harness lives in :mod:`.server` (the JupyterLab server), :mod:`.lab` (chromium and notebook
pages) and :mod:`.timings`; ``conftest.py`` turns them into pytest fixtures.
"""
