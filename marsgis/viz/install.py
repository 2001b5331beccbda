"""Install the Jupyter side of marsgis.viz: the offline Voila template and the tile extension.

Run once per environment (``make dashboards`` does it)::

    python -m marsgis.viz.install            # into sys.prefix (the virtual environment)
    python -m marsgis.viz.install --user     # into the user's Jupyter data/config dirs

It writes these, all idempotently:

* the Voila template ``marsgis`` (``share/jupyter/voila/templates/marsgis/``): Voila's ``lab``
  template without the Font Awesome stylesheets that template loads from
  ``cdn.jsdelivr.net`` (Voila bundles the icons it shows). The dashboards name it in their
  notebook metadata (``"voila": {"template": "marsgis"}``), so no dashboard page makes a
  request outside the machine;
* ``etc/jupyter/jupyter_server_config.d/marsgis.json``, which enables the marsgis Jupyter
  server extension (:mod:`marsgis.viz.server`: tiles at ``{base_url}marsgis/tiles/``) in every
  Jupyter server of the environment (JupyterLab, JupyterHub single-user servers, Voila
  running as a server extension);
* ``etc/jupyter/voila.json``: bounded page kernels (:func:`marsgis.viz.kernels.voila_config`:
  idle kernels culled, at most a few per person), read by ``make dashboards``' Voila;
* ``etc/jupyter/labconfig/page_config.json``: JupyterLab's news announcements plugin
  (``@jupyterlab/apputils-extension:announcements``) disabled, so JupyterLab neither asks
  about nor fetches news from jupyter.org.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from marsgis.exceptions import ValidationError
from marsgis.io.atomic import write_text

__all__ = ["LAB_DISABLED", "TEMPLATE_FILES", "TEMPLATE_NAME", "install", "main"]

#: Name of the Voila template.
TEMPLATE_NAME = "marsgis"

_CDN_LINKS = (
    '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/'
    'fontawesome-free@^5/css/all.min.css" type="text/css" />',
    '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/'
    'fontawesome-free@^5/css/v4-shims.min.css" type="text/css" />',
)

_INDEX = (
    "{%- extends 'lab/index.html.j2' -%}\n"
    "{#- marsgis: Voila's lab template without the Font Awesome stylesheets it loads from\n"
    "    cdn.jsdelivr.net, so a dashboard page fetches nothing from outside the machine. -#}\n"
    "{%- block notebook_css -%}\n"
    "{{ super()" + "".join(f" | replace('{link}', '')" for link in _CDN_LINKS) + " }}\n"
    "{%- endblock notebook_css -%}\n"
    "{#- no Mermaid diagrams in dashboards: drop the loader that would fetch it from cdnjs -#}\n"
    "{%- block html_head_js_mermaidjs -%}\n"
    "{%- endblock html_head_js_mermaidjs -%}\n"
)

# Voila's base/page.html with lab/page.html's stylesheets, without the Font Awesome 4.5
# stylesheet base/page.html loads from cdn.jsdelivr.net (tree, error and 404 pages).
_PAGE = """<!DOCTYPE HTML>
<html>
  <head>
    <meta charset="utf-8">
    <title>{% block title %} Voilà {% endblock %}</title>
    <meta http-equiv="X-UA-Compatible" content="IE=edge" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    {% block stylesheets %}
    {% if include_css %}
      {{ include_css("static/index.css") }}
      {% if theme == 'dark' %}
        {{ include_css("static/theme-dark.css") }}
      {% elif theme == 'light' %}
        {{ include_css("static/theme-light.css") }}
      {% else %}
        {{ include_lab_theme(theme) }}
      {% endif %}
    {% endif %}
    {% endblock %}
    {% block meta %}
    {% endblock %}
  </head>
  <body data-base-url="{{ base_url }}voila/" data-voila="voila">
    <noscript>
      <div id='noscript'>
        {% trans %} Voilà requires JavaScript. Please enable it to proceed. {% endtrans %}
      </div>
    </noscript>
    <div>
      {% block body %}
      {% endblock %}
    </div>
    {% block scripts %}
    {% endblock %}
  </body>
</html>
"""

#: File name → content of the Voila template.
TEMPLATE_FILES = {
    "conf.json": json.dumps({"base_template": "lab"}, indent=2) + "\n",
    "index.html.j2": _INDEX,
    "page.html": _PAGE,
}

_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"marsgis.viz": True}}}
#: JupyterLab plugins disabled in every JupyterLab of the environment (no news from the web).
LAB_DISABLED = ("@jupyterlab/apputils-extension:announcements",)


def _merge_json(path: Path, update: dict[str, Any]) -> Path:
    """Write ``update`` into the JSON object at ``path``, keeping its other keys."""
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text())
        except ValueError as exc:
            raise ValidationError(f"{path} is not JSON ({exc}); fix or remove it") from exc
        current = loaded if isinstance(loaded, dict) else {}
    merged = _deep_update(current, update)
    return _write(path, json.dumps(merged, indent=2, sort_keys=True) + "\n")


def _deep_update(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_update(out[key], value)
        else:
            out[key] = value
    return out


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return path


def install(
    *,
    data_dir: str | Path | None = None,
    config_dir: str | Path | None = None,
    user: bool = False,
    server_extension: bool = True,
    kernel_limits: dict[str, dict[str, Any]] | None = None,
) -> list[Path]:
    """Write the Voila template and (optionally) enable the tile server extension.

    Parameters
    ----------
    data_dir, config_dir
        Jupyter data and config directories; default ``{sys.prefix}/share/jupyter`` and
        ``{sys.prefix}/etc/jupyter`` (or the user's with ``user=True``).
    user
        Install for the current user instead of the environment.
    server_extension
        Also enable :mod:`marsgis.viz.server` in Jupyter servers.
    kernel_limits
        The ``voila.json`` settings; default :func:`marsgis.viz.kernels.voila_config`.

    Returns
    -------
    list of pathlib.Path
        The files written (or already up to date).
    """
    from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir

    if user and (data_dir is not None or config_dir is not None):
        raise ValidationError("give user=True or explicit directories, not both")
    if user:
        data = Path(jupyter_data_dir())
        config = Path(jupyter_config_dir())
    else:
        data = Path(data_dir) if data_dir is not None else Path(sys.prefix) / "share" / "jupyter"
        config = (
            Path(config_dir) if config_dir is not None else Path(sys.prefix) / "etc" / "jupyter"
        )
    folder = data / "voila" / "templates" / TEMPLATE_NAME
    written = [_write(folder / name, text) for name, text in TEMPLATE_FILES.items()]
    if server_extension:
        target = config / "jupyter_server_config.d" / "marsgis.json"
        written.append(_write(target, json.dumps(_SERVER_CONFIG, indent=2) + "\n"))
    if kernel_limits is None:
        from marsgis.viz.kernels import voila_config

        kernel_limits = voila_config()
    written.append(_merge_json(config / "voila.json", kernel_limits))
    disabled = {"disabledExtensions": dict.fromkeys(LAB_DISABLED, True)}
    written.append(_merge_json(config / "labconfig" / "page_config.json", disabled))
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m marsgis.viz.install [--user] [--no-server-extension]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--user", action="store_true", help="install for this user only")
    parser.add_argument(
        "--no-server-extension",
        action="store_true",
        help="only the Voila template; leave Jupyter servers' extensions alone",
    )
    args = parser.parse_args(argv)
    for path in install(user=args.user, server_extension=not args.no_server_extension):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
