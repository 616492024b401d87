"""The reader's PDF.js is shipped as ES modules (``static/vendor/pdfjs/*.mjs``). Debian 12's nginx (1.22) has
no ``.mjs`` in its mime.types, and a browser refuses a module served as ``application/octet-stream``: the
reader would be blank behind nginx while it works behind Daphne alone. Both nginx configurations add the
type; this serves the repository's static files through the cluster's nginx configuration (the real
deploy/nginx.conf.template, run as a child process) and checks what it answers, and checks the production
site file says the same."""

from __future__ import annotations

import getpass
import grp
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from deploy import cluster, daphne_process

ROOT = Path(__file__).resolve().parent.parent


def _nginx() -> str:
    try:
        return cluster.find_nginx()
    except cluster.ServiceMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def test_the_cluster_nginx_serves_the_reader_modules_as_javascript(tmp_path):
    nginx = _nginx()
    prefix = tmp_path / "nginx"
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True)
    port = daphne_process.free_port()
    config = cluster.TEMPLATE.read_text(encoding="utf-8")
    fields = {"prefix": str(prefix), "port": str(port), "static_root": str(ROOT / "static"),
              "servers": "        server 127.0.0.1:9 max_fails=1 fail_timeout=2s;",
              "user": f"{getpass.getuser()} {grp.getgrgid(os.getgid()).gr_name}"}
    for name, value in fields.items():
        config = config.replace("{{" + name + "}}", value)
    conf = prefix / "nginx.conf"
    conf.write_text(config, encoding="utf-8")
    process = subprocess.Popen([nginx, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf),
                                "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        types = {}
        for name in ("vendor/pdfjs/pdf.min.mjs", "vendor/pdfjs/pdf.worker.min.mjs", "reader/reader.js",
                     "css/app.css"):
            for _attempt in range(50):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{name}", timeout=5) as answer:
                        types[name] = answer.headers["Content-Type"]
                    break
                except OSError:
                    time.sleep(0.1)
        assert types == {"vendor/pdfjs/pdf.min.mjs": "text/javascript",
                         "vendor/pdfjs/pdf.worker.min.mjs": "text/javascript",
                         "reader/reader.js": "application/javascript", "css/app.css": "text/css"}, types
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_production_site_file_adds_the_module_type_to_the_static_files():
    site = (ROOT / "deploy" / "nginx" / "ecabinet.conf").read_text(encoding="utf-8")
    static = site[site.index("location /static/ {"):]
    static = static[: static.index("}") + 1]
    assert "include /etc/nginx/mime.types;" in static and "types { text/javascript mjs; }" in static
