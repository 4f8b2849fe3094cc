"""The baseline audit as an Ansible playbook, for teams that already run Ansible.

``deploy/playbooks/baseline-audit.yml`` is rendered from :data:`.controls.CONTROLS`
(``python -m hatang.deploy.baseline.playbook`` rewrites it; a test keeps the shipped
file equal to the rendering): the same shell checks, the same prelude, the same
``found …; expected …`` messages, so the two audits can never disagree. The host's
expected values come as the host variable ``hatang_baseline_env``, which
``hatang deploy playbook`` writes next to the inventory (:mod:`hatang.deploy.playbook_runner`).
Every task is read-only and runs in ``--check`` mode too.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hatang.deploy.baseline.controls import CONTROLS, DECREE, PRELUDE, STANDARD

PATH = Path(__file__).resolve().parent.parent / "playbooks" / "baseline-audit.yml"
HOST_VAR = "hatang_baseline_env"
MESSAGE = "{{ inventory_hostname }}: {{ r.item.id }}: {{ r.stdout | default('failed', true) }}"


def render() -> str:
    controls = [{"id": c.id, "title": c.title, "reference": c.reference, "roles": list(c.roles), "kinds": list(c.kinds), "check": c.check} for c in CONTROLS]
    play = {
        "name": f"Security baseline audit (level 3: {DECREE}, {STANDARD}); changes nothing",
        "hosts": "servers",
        "gather_facts": False,
        "vars": {"baseline_prelude": PRELUDE, "baseline_controls": controls},
        "tasks": [
            {
                "name": "The inventory's expected values are known",
                "ansible.builtin.assert": {
                    "that": f"{HOST_VAR} is defined",
                    "fail_msg": f"{{{{ inventory_hostname }}}}: no {HOST_VAR}: run this playbook with 'hatang deploy playbook baseline-audit.yml'",
                    "quiet": True,
                },
            },
            {
                "name": "Run the read-only check of each control that applies to the host",
                "ansible.builtin.command": {"argv": ["/bin/sh", "-c", "{{ baseline_prelude }}{{ item.check }}"]},
                "environment": f"{{{{ {HOST_VAR} }}}}",
                "loop": "{{ baseline_controls }}",
                "loop_control": {"label": "{{ item.id }}: {{ item.title }}"},
                "when": "item.roles | intersect(hatang_roles | default(['base'])) | length > 0 or hatang_kind | default('') in item.kinds",
                "register": "baseline_checks",
                "changed_when": False,
                "failed_when": False,
                "check_mode": False,
            },
            {
                "name": "Every control passes",
                "ansible.builtin.assert": {
                    "that": "baseline_failing | length == 0",
                    # never empty: Ansible renders an empty message as None, and rejects it even when the assertion holds
                    "fail_msg": "{{ baseline_failing | length }} failing control(s):\n{% for r in baseline_failing %}" + MESSAGE + "\n{% endfor %}",
                    "success_msg": "every applicable control passes",
                    "quiet": True,
                },
                "vars": {
                    "baseline_failing": "{{ baseline_checks.results | selectattr('rc', 'defined') | rejectattr('rc', 'equalto', 0) | list }}",
                },
            },
        ],
    }
    header = "# Rendered from hatang.deploy.baseline.controls by 'python -m hatang.deploy.baseline.playbook'; do not edit.\n"
    return "---\n" + header + yaml.safe_dump([play], sort_keys=False, allow_unicode=True, width=200)


if __name__ == "__main__":
    PATH.write_text(render())
    print(PATH)
