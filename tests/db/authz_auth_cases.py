"""Authorization cases for the authentication Store method (issue 9): a key and its user,
readable together only by whoever may read both. Merged into CASES by tests/db/test_authz_store.py."""

from __future__ import annotations

from tests.db.authz_support import Case, allowed, not_found

AUTH_CASES: dict[str, list[Case]] = {
    "get_api_key_with_user": [
        allowed(
            lambda s, w: s.get_api_key_with_user(w.my_key),
            check=lambda r, w: r[0].id == w.my_key and r[1].id == w.me,
        ),
        not_found(lambda s, w: s.get_api_key_with_user(w.other_key)),
        not_found(lambda s, w: s.get_api_key_with_user(w.my_key), actor="anonymous"),
        allowed(lambda s, w: s.get_api_key_with_user(w.other_key), actor="owner"),
    ],
}
