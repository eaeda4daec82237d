"""The ids a PSI party may bring: all str or all int, checked before anything is sent.

An int id is matched as its decimal text, so the int 42 on one side meets "42" on the other;
each party gets its intersection back in its own ids' type. A set mixing types (or holding
bools, floats, bytes, None) is refused with InvalidInput naming its owner: a float 1.0 beside
an int 1 or a str "1" has no one obvious meaning.
"""

from __future__ import annotations

from collections.abc import Collection

from compute.errors import InvalidInput

PsiId = str | int


def check_ids(ids: Collection[PsiId], owner: str) -> list[PsiId]:
    """The distinct ids of `ids`, in first-seen order; InvalidInput unless all are str or all are int."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Collection):
        raise InvalidInput(f"the PSI input of {owner} must be a collection of ids, not {type(ids).__name__}")
    kinds = {type(i) for i in ids}
    if kinds - {str, int}:
        odd = sorted(k.__name__ for k in kinds - {str, int})
        raise InvalidInput(f"the PSI ids of {owner} must be str or int, found {', '.join(odd)}")
    if len(kinds) > 1:
        raise InvalidInput(f"the PSI ids of {owner} mix str and int: give one type (ints match their decimal text)")
    return list(dict.fromkeys(ids))


def id_text(ident: PsiId) -> str:
    """What an id is hashed as: itself if str, its decimal text if int."""
    return ident if isinstance(ident, str) else str(ident)
