"""One rule for hiding secrets in what storyviz records or shows.

A backend string can carry a credential in three places: an option whose name says so
(``?api_key=...``), the userinfo of a URL (``http://user:pass@host``, in the model part of
``openai-compat:URL#MODEL`` or in an option such as ``base_url=``), and a URL's query
(``...?sig=...``). Backend strings are written to manifests, events, reports and error messages,
so everything that records or prints one goes through `redact` (``BackendSpec.redacted`` does,
for each part), and a new kind of secret is taught here once instead of at every writer.

Imports nothing of storyviz: the registry, the settings and the provider clients all use it.
"""

from __future__ import annotations

import re

MASK = "***"

# Words that mark a name (an option, a setting, a URL query parameter) as holding a secret:
# key, api_key, apikey, access_token, client_secret, password, passwd, pwd, sig, signature,
# X-Amz-Signature, X-Amz-Credential, auth, authorization, session, cookie.
_WORDS = "key|secret|token|passw|pwd|sig|auth|credential|session|cookie"
_SECRET_WORDS = re.compile(_WORDS, re.IGNORECASE)

# ``scheme://userinfo@``: the userinfo runs to the last ``@`` before the path, so a password
# with a raw ``@``, ``#`` or ``?`` in it is still hidden whole (erring towards hiding too much).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s]*@")

# A secret-looking ``name=value`` anywhere: in a URL query (also one nested in another pair's
# value, ``base_url=https://h/v1?sig=...``), an option list, a message that quotes one. The
# value runs to the next separator a query, a list or a quoted string would have.
_SECRET_PAIR = re.compile(rf"([\w.\-]*(?:{_WORDS})[\w.\-]*)=([^&#;?\s'\"]*)", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a name looks like it holds a secret. A name ending in ``_env`` (``key_env``)
    holds the name of an environment variable, which is not itself secret and is worth keeping
    in a run's record."""
    return bool(_SECRET_WORDS.search(name)) and not name.lower().endswith("_env")


def redact(text: str) -> str:
    """`text` with URL userinfo and the values of secret-looking ``name=value`` pairs masked.

    ``openai-compat:http://u:p@host/v1#m`` -> ``openai-compat:http://***@host/v1#m``;
    ``https://host/x?sig=abc&size=2`` -> ``https://host/x?sig=***&size=2``.
    """
    text = _URL_USERINFO.sub(rf"\g<1>{MASK}@", text)
    return _SECRET_PAIR.sub(_hide_pair, text)


def _hide_pair(found: re.Match[str]) -> str:
    name, value = found.group(1), found.group(2)
    return f"{name}={MASK}" if value and is_secret_name(name) else found.group(0)
