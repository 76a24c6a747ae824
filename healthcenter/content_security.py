"""The two inline <style> elements plotly.js adds itself, allowed by their hashes so that style-src needs
no 'unsafe-inline' (settings.CONTENT_SECURITY_POLICY).

plotly.js (the copy the pip package ships, served by healthcenter.staticfinders) draws with SVG attributes
and the CSSOM (element.style), which CSP does not restrict, and adds style sheets twice:

- an empty <style id="plotly.js-style-global">, which it then fills through the CSSOM (insertRule): CSP
  checks the element's own text, the empty string, so that hash admits it and nothing else;
- maplibre's CSS for map traces, written into a <style> when the file loads, whether or not a page draws
  a map. Its hash is read from the installed file, so that a plotly upgrade does not need an edit here. Should
  a future build write it differently, the hash is left out: map styles are blocked (no page draws a map)
  and tests/browser/test_csp.py fails on the violation, which names the hash to allow.

Only this text is allowed: a <style> injected with anything else is refused."""

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
# e.textContent='<css>',document.head.appendChild(e) - a JavaScript string without escapes, whose text is
# then the CSS exactly.
MAPLIBRE_STYLE = re.compile(r"""\.textContent='(\.maplibregl-[^'\\]*)',document\.head\.appendChild\(""")


def plotly_js() -> Path:
    # find_spec rather than `import plotly`: the settings need the path only, not the package.
    spec = importlib.util.find_spec("plotly")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def style_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def plotly_style_hashes(path: Path | None = None) -> list[str]:
    hashes = [EMPTY_STYLE_HASH]
    source = (path or plotly_js()).read_text(encoding="utf-8")
    hashes += [style_hash(css) for css in MAPLIBRE_STYLE.findall(source)]
    return hashes
