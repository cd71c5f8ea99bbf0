#!/usr/bin/env python3
"""Expands template.yaml the way a deployment does, once per TokenTransport, and checks what API
Gateway would get: the authorizer's identity sources and cache, and the CORS configuration.

Phase 1 is SAM CLI's own local AWS::LanguageExtensions expansion (what `--language-extensions`
runs; CloudFormation does the same server-side), phase 2 the SAM translator. Run by
scripts/lint-template.sh with the venv's python.
"""
import copy
import json
import os
import sys

from cfnlint.decode import cfn_yaml
from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samtranslator.translator.transform import transform

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

PARAMETERS = {
    "JwtIssuer": "https://auth.example.com",
    "JwtAudience": "https://api.example.com",
    "JwtPublicJwks": '{"keys":[]}',
    "SigningKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing-key",
}
ORIGINS = "https://app.example.com,http://localhost:5173"


class NoManagedPolicies:
    def load(self):
        return {}


def deployed_api(template, **parameters):
    values = dict(PARAMETERS, **parameters, **{"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"})
    expanded = expand_language_extensions(copy.deepcopy(template), values, enabled=True).expanded_template
    for resource in expanded["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"  # what `sam package` writes
    output = transform(expanded, dict(PARAMETERS, **parameters), NoManagedPolicies())
    (api,) = [r for r in output["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    return api["Properties"]["Body"]


def authorizer(body):
    return body["components"]["securitySchemes"]["LambdaAuthorizer"]["x-amazon-apigateway-authorizer"]


def main(path):
    template = json.loads(json.dumps(cfn_yaml.load(path)))
    failures = []

    def expect(condition, message):
        if not condition:
            failures.append(message)

    body = deployed_api(template, TokenTransport="body")
    auth = authorizer(body)
    expect(auth.get("identitySource") == ["$request.header.Authorization", "$context.routeKey"],
           f"body transport: identity sources {auth.get('identitySource')}")
    expect(auth.get("authorizerResultTtlInSeconds") == 300, "body transport: cache of 300 s")
    expect("x-amazon-apigateway-cors" not in body or body["x-amazon-apigateway-cors"] == {"Ref": "AWS::NoValue"},
           f"no CORS unless origins are given: {body.get('x-amazon-apigateway-cors')}")

    for transport in ("cookie", "both"):
        body = deployed_api(template, TokenTransport=transport, CorsAllowedOrigins=ORIGINS)
        auth = authorizer(body)
        expect(auth.get("identitySource") == ["$context.routeKey"],
               f"{transport} transport: identity sources {auth.get('identitySource')} (no Authorization header)")
        expect(auth.get("authorizerResultTtlInSeconds") == 0, f"{transport} transport: authorizer cache off")
        cors = body.get("x-amazon-apigateway-cors", {})
        expect(cors.get("allowOrigins") == ORIGINS.split(","), f"CORS origins: {cors}")
        expect(cors.get("allowCredentials") is True, f"CORS credentials: {cors}")
        expect("x-csrf-token" in cors.get("allowHeaders", []), f"CORS headers: {cors}")

    for failure in failures:
        print(f"check-template-transports: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
