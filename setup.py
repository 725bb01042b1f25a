"""Packages are found, not listed: a new flow folder under dyn/flows/ is packaged by being there.

Everything else is in pyproject.toml; ``cli/`` is packaged as ``dyn.cli``.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["dyn", "dyn.*"]) + ["dyn.cli"], package_dir={"dyn": "dyn", "dyn.cli": "cli"})
