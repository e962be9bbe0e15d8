"""The help texts of ``mockproget``: what each command does, examples, environment
variables and exit codes (shown by ``--help``; kept apart so the parser stays short)."""

from __future__ import annotations

__all__ = ["MAIN_DESCRIPTION", "MAIN_EPILOG", "SERVE_DESCRIPTION", "SERVE_EPILOG",
           "VERIFY_DESCRIPTION", "VERIFY_EPILOG"]

MAIN_DESCRIPTION = """\
A mock ProGet server (the api-keys endpoints and health, with faults and a request
journal), and a contract kit that checks any server against ProGet's api-keys wire
contract."""

MAIN_EPILOG = """\
examples:
  mockproget serve                      run the mock on http://127.0.0.1:8624/
  mockproget serve --port 0 --seed 7    a free port, reproducible keys
  mockproget verify --url http://127.0.0.1:8624/ --api-key KEY
  mockproget serve --help               the options of one command

exit codes:
  0  done (serve: stopped by Ctrl+C or SIGTERM; verify: the server conforms)
  2  usage error: unknown option, bad value, or no command (this help is printed)
  other codes: see each command's --help"""

SERVE_DESCRIPTION = """\
Run the mock ProGet server until interrupted (Ctrl+C or SIGTERM). It prints the address
it listens on, the ProGet version and edition it emulates and the admin API key, then
"mockproget: press Ctrl+C to stop" once it accepts requests. State lives in memory and is
reset at start; the control API is under /__mockproget__/."""

SERVE_EPILOG = """\
examples:
  mockproget serve
  mockproget serve --port 0 --admin-key 0123456789abcdef0123456789abcdef01234567
  mockproget serve --config mockproget.toml --seed 42
  mockproget serve --fault "POST /api/api-keys/create 503 times=2"
  MOCKPROGET_CONTROL_TOKEN=secret mockproget serve --host 0.0.0.0

environment variables (a flag wins over its variable, a variable over the file):
  MOCKPROGET_HOST           address to bind (default 127.0.0.1)
  MOCKPROGET_PORT           port to bind (default 8624)
  MOCKPROGET_ADMIN_KEY      text of the admin key (kept out of the process list)
  MOCKPROGET_SEED           seed for every random choice
  MOCKPROGET_CONTROL_TOKEN  token the control API requires (X-MockProGet-Token)

exit codes:
  0  stopped by Ctrl+C or SIGTERM
  1  cannot listen on the address (port in use, no permission)
  2  usage error or bad configuration (file, flag, variable or seeded state)

more: docs/configuration.md (every setting), docs/faults.md (fault rules), docs/control-api.md"""

VERIFY_DESCRIPTION = """\
Check a server (a real ProGet, another fake, or this mock) against ProGet's api-keys wire
contract, clause by clause, and print a report: each clause with its spec section and
source, the request that broke it (secrets masked), and the verdict. Every key it creates
is deleted again; what could not be is reported."""

VERIFY_EPILOG = """\
examples:
  MOCKPROGET_TARGET_API_KEY=KEY mockproget verify --url https://proget.example.com/
  mockproget verify --url http://127.0.0.1:8624/ --api-key KEY --readonly
  mockproget verify --url http://127.0.0.1:8624/ --api-key KEY -k validation

environment variables (each stands in for the flag of the same name):
  MOCKPROGET_TARGET_URL       the server to check, when --url is not given
  MOCKPROGET_TARGET_API_KEY   the API key, when --api-key is not given (keeps it out of
                              the process list)
  MOCKPROGET_TARGET_USERNAME, MOCKPROGET_TARGET_PASSWORD
                              a user and its password, for the pseudo-key clauses
  MOCKPROGET_TARGET_FEED, MOCKPROGET_TARGET_FEED_GROUP, MOCKPROGET_TARGET_USER
                              names that exist on the target
  MOCKPROGET_TARGET_FEED_TYPE, MOCKPROGET_TARGET_MAY_PUBLISH
                              the feed's type and consent to publish, for the feed clauses

exit codes:
  0    the server conforms
  1    the server does not conform (a clause failed, or keys were left behind)
  2    usage error (a bad option, or -k matching no clause)
  3    the target is unreachable or unusable (not ProGet, key refused), found by a
       pre-flight before any clause runs
  130  interrupted (Ctrl+C): only the clauses that ran are reported

more: docs/conformance.md"""
