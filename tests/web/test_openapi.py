"""docs/openapi.yaml describes every route the app serves, and is what ``exporter.web.openapi`` builds."""

import re
from pathlib import Path

import pytest
import yaml

from exporter.web import openapi
from exporter.web.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_shipped_file_is_current():
    assert DOC.read_text(encoding="utf-8") == openapi.dump(), "run: python -m exporter.web.openapi > docs/openapi.yaml"


def test_every_registered_route_is_described(leader):
    spec = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    app = create_app(leader.runtime)
    served = {(route.method.lower(), route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}
    described = {(method, path) for path, ops in spec["paths"].items() for method in ops if method in METHODS}
    assert served <= described, f"not in docs/openapi.yaml: {sorted(served - described)}"
    admin = {entry for entry in described if entry[1].startswith("/api/admin/")}
    assert admin <= served, f"described but not served: {sorted(admin - served)}"


def test_every_operation_declares_its_path_parameters_security_and_responses():
    spec = openapi.build()
    for path, operations in spec["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)
            assert "security" in operation and operation["responses"], (method, path)
            for parameter in operation.get("parameters", []):
                assert "schema" in parameter, (method, path, parameter["name"])


def test_the_description_is_valid_openapi_3():
    validator = pytest.importorskip("openapi_spec_validator", reason="pip install openapi-spec-validator to check the spec")
    validator.validate(yaml.safe_load(DOC.read_text(encoding="utf-8")))
