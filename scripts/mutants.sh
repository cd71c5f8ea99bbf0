#!/usr/bin/env bash
# Mutation testing of the security core with cargo-mutants (docs/testing.md, "Mutation
# testing"). Too slow for CI: run it by hand after changing the code it covers.
#
#   scripts/mutants.sh [tokens|rules|throttle|password|csrf|authorizer|permissions|id-token|decisions|policy|credential-events|federation|passkeys|import|service|all] [extra cargo-mutants args]
#
# tokens/rules/throttle/password/csrf/authorizer mutate shared/src and run shared's own tests (unit tests and
# the JWS vectors): about 15 s a mutant. service mutates the use cases and the authorizer and
# also runs the end-to-end tests on the embedded store (the DynamoDB variants are skipped, so no
# server is needed): about a minute a mutant. Results go to mutants.out/<area>/ (gitignored);
# the summary (caught, missed, unviable, timeouts) is printed at the end, missed mutants listed.
# policy and credential-events run chosen end-to-end suites on both stores, so they need DynamoDB
# Local (AWS_ENDPOINT_URL_DYNAMODB, as scripts/test.sh sets it).
# `--iterate` reruns only what was not caught last time. Install: cargo install cargo-mutants --locked
set -euo pipefail
cd "$(dirname "$0")/.."
area="${1:-all}"
shift || true

# libtest filters: everything that needs DynamoDB Local or moto.
E2E_SKIPS=(--skip dynamo --skip events:: --skip outage:: --skip races:: --skip signing_key:: --skip ses::
    --skip strict_mode_refuses_a_logged_out_access_token)

run() {
    local name="$1"
    shift
    echo "== $name"
    local status=0
    mkdir -p "mutants.out/$name"
    cargo mutants --no-shuffle --timeout 300 -o "mutants.out/$name" "$@" || status=$?
    # 0: all caught; 2: some missed; 3: timeouts; anything else is a failure of the run itself.
    case $status in 0 | 2 | 3) ;; *) exit "$status" ;; esac
    local out="mutants.out/$name/mutants.out"
    for kind in caught missed unviable timeout; do
        printf '%-9s %s\n' "$kind" "$(wc -l <"$out/$kind.txt")"
    done
    sed 's/^/  missed: /' "$out/missed.txt"
}

case "$area" in
tokens | all)
    run tokens -p shared -f shared/src/tokens/jws.rs -f shared/src/tokens/keys.rs -f shared/src/tokens/mod.rs \
        -f shared/src/tokens/device.rs -f shared/src/tokens/signing.rs "$@"
    ;;&
rules | all)
    run rules -p shared -f shared/src/store/mod.rs "$@"
    ;;&
throttle | all)
    run throttle -p shared -f shared/src/store/throttle.rs -f shared/src/domain/throttle.rs "$@"
    ;;&
password | all)
    run password -p shared -f shared/src/domain/password/hasher.rs -f shared/src/domain/password/mod.rs "$@"
    ;;&
csrf | all)
    run csrf -p shared -f shared/src/transport.rs -f shared/src/transport/csrf.rs "$@"
    ;;&
authorizer | all)
    run authorizer -p shared -f shared/src/authorizer/mod.rs -f shared/src/authorizer/context.rs "$@"
    ;;&
permissions | all)
    # The permission grammar and its wildcards, roles' limits, the deployer's route matching.
    run permissions -p shared -f shared/src/domain/permission.rs \
        -f shared/src/authorizer/api_routes.rs "$@"
    ;;&
id-token | all)
    # Federation's checks that need no server: the ID token's signature and claims, the
    # account-resolution rules, PKCE, the redirect allowlist, the https-only provider URLs.
    run id-token -p shared -f shared/src/federation/id_token.rs -f shared/src/domain/federation.rs \
        -f shared/src/federation/http.rs "$@"
    ;;&
decisions)
    # The part of `service` that decides who may do what: the authorizer's decision and policy,
    # the admin checks, logout's and refresh's session rules (about 70 mutants, under an hour).
    run decisions --test-package=shared --test-package=e2e --test-package=authctl -f shared/src/authorizer/mod.rs -f shared/src/authorizer/rest.rs \
        -f shared/src/service/admin.rs -f shared/src/service/sessions.rs "$@" -- -- "${E2E_SKIPS[@]}"
    ;;
policy)
    # The authorizer's decisions on the deployer's routes and the REST policy builder, against
    # the suites that check them (the generated route tables included), and the cookie
    # transport's access token (the same file reads it).
    run policy --test-package=shared --test-package=e2e -f shared/src/authorizer/mod.rs -f shared/src/authorizer/rest.rs "$@" \
        -- -- route_permissions:: rest_authorizer:: authorizer:: cookies::
    ;;
credential-events)
    # The credential-event rule: the epoch raised by each event, every redemption conditioned on
    # it, on both stores (DynamoDB Local needed).
    run credential-events --test-package=shared --test-package=e2e -f shared/src/store/dynamo/credentials.rs \
        -f shared/src/domain/user.rs -f shared/src/store/memory/one_time.rs -f shared/src/store/memory/mfa.rs "$@" \
        -- -- credential_events:: store_contract:: amr:: domain::user::
    ;;
federation)
    # The federation callback's checks (state, browser, issuer, nonce through the real provider),
    # account resolution and linking, the login code's trade, against oidc-provider (tests/upstream's
    # npm packages needed). The mutated use cases are the same over either store, whose adapters
    # have their own contract tests: the embedded store's run halves the time of a mutant.
    run federation --test-package=e2e -f shared/src/service/federation/callback.rs \
        -f shared/src/service/federation/exchange.rs -f shared/src/service/federation/mod.rs "$@" \
        -- -- federation::embedded
    ;;
passkeys)
    # The relying party's options and checks (challenge, origin, RP ID, user verification, the
    # counter), the ceremonies' use cases (the challenge's owner and epoch, the last way in) and
    # the embedded store's counter rule, with shared's unit tests and the passkey end-to-end tests
    # on the embedded store (a software authenticator in the test process; no server needed).
    run passkeys --test-package=shared --test-package=e2e -f shared/src/passkeys.rs \
        -f shared/src/domain/passkeys.rs -f shared/src/service/passkeys/mod.rs \
        -f shared/src/service/passkeys/sign_in.rs -f shared/src/store/memory/passkeys.rs "$@" \
        -- -- passkeys --skip dynamodb
    ;;
import)
    # What an import reads and what a new password must be: the stored-hash parser and its cost
    # bounds (argon2, scrypt, PBKDF2, bcrypt, Django's), the account line and Django's dump, the
    # breach range answer and zxcvbn's floor, a Cognito account made here; shared's unit tests.
    run import -p shared -f shared/src/domain/password/stored.rs -f shared/src/migration/line.rs \
        -f shared/src/migration/django.rs -f shared/src/password_policy/mod.rs \
        -f shared/src/password_policy/breach.rs -f shared/src/password_policy/strength.rs \
        -f shared/src/legacy/mod.rs "$@"
    ;;
service | all)
    run service --test-package=shared --test-package=e2e --test-package=authctl -f shared/src/authorizer/mod.rs -f shared/src/authorizer/rest.rs \
        -f shared/src/service/admin.rs -f shared/src/service/sessions.rs -f shared/src/service/accounts.rs \
        -f shared/src/service/throttle.rs -f shared/src/service/mod.rs "$@" -- -- "${E2E_SKIPS[@]}"
    ;;
tokens | rules | throttle | password | csrf | authorizer | permissions | id-token | decisions | policy | credential-events | federation | passkeys | import) ;;
*)
    echo "unknown area $area (tokens, rules, throttle, password, csrf, authorizer, permissions, id-token, decisions, policy, credential-events, federation, passkeys, import, service, all)" >&2
    exit 64
    ;;
esac
