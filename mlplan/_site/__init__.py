"""The static site (`mlplan site`): a layer beside _report that reads plans, their results and
verdicts, and writes HTML and SVG. See build.py."""

from mlplan._site.build import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
