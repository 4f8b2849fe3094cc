"""pyinfra deploy: ``web-portal``, a portal of the province behind nginx.

nginx serves the service's site from ``/srv/www/<service>`` on the server's own
address, with hardened defaults (no version banner, security headers, body limit) and
a ``/healthz`` the monitoring probes. The configuration is checked (``nginx -t``)
before nginx reloads. The site's files are in the nightly backup.
"""

from pyinfra import host
from pyinfra.operations import files

from hatang.deploy import backup, ops
from hatang.deploy.baseline.content import HEADER

intent = ops.intent()
service = intent.host.service or host.name
webroot = f"/srv/www/{service}"

ops.packages(["nginx"])

site = [
    ops.text("/etc/nginx/conf.d/hatang-hardening.conf", HEADER + """server_tokens off;
client_max_body_size 20m;
add_header X-Frame-Options SAMEORIGIN always;
add_header X-Content-Type-Options nosniff always;
add_header Referrer-Policy strict-origin-when-cross-origin always;
"""),
    ops.text(f"/etc/nginx/sites-available/{service}", HEADER + f"""server {{
    listen {intent.host.address.ip}:80 default_server;
    server_name {service} {host.name};
    root {webroot};
    index index.html;
    access_log /var/log/nginx/{service}-access.log;
    error_log /var/log/nginx/{service}-error.log;
    location = /healthz {{ access_log off; default_type text/plain; return 200 "ok\\n"; }}
    location / {{ try_files $uri $uri/ =404; }}
}}
"""),
    files.link(name=f"Enable the {service} site", path=f"/etc/nginx/sites-enabled/{service}", target=f"/etc/nginx/sites-available/{service}"),
    files.link(name="Disable nginx's default site", path="/etc/nginx/sites-enabled/default", present=False),
]
files.directory(name=f"Web root {webroot}", path=webroot, user="root", group="www-data", mode="750")
ops.text(f"{webroot}/index.html", f"<!doctype html><meta charset=utf-8><title>{intent.service_title or service}</title>\n<h1>{intent.service_title or service}</h1>\n",
         group="www-data", mode="640")
ops.command_if("Check the nginx configuration", "nginx -t -q", site)
ops.service("nginx", restart_when=site, reload=True)

backup.client(intent, [f"tar -czf \"$DEST/www-{service}.tar.gz\" -C {webroot} ."])
