"""Grow found spans to the whole identifier, so redaction leaves no fragment behind.

NER often stops a name at a particle ("Timo van | der Ven") or at a hyphen, and the phone
recognizers often leave the country prefix ("+31 | (0)958 627564"). A fragment left next to a
placeholder is still personal data, and a residual-PII check flags it. These rules extend a span
only over text that is adjacent to it and shaped like the rest of the identifier.
"""

from __future__ import annotations

import regex

from pactline.pii.recognizers import Hit

NAME_ENTITIES = frozenset({"PERSON", "ORGANIZATION", "LOCATION", "NRP"})
# Surname particles (Dutch, German, French, Italian, Spanish, Portuguese, Arabic) and name words.
_PARTICLE = r"(?:van|der|den|de|del|della|di|da|das|dos|du|la|le|von|zu|zur|ten|ter|te|'t|van't|bin|ibn|al|el)"
_NAME_WORD = r"\p{Lu}[\p{L}'\u2019]*(?:-(?:\p{Lu}|" + _PARTICLE + r"\b)[\p{L}'\u2019]*)*"
# Degrees and suffixes written after a name ("Hans Nohlmans MBA.", "Frida Gotthard B.Eng.").
_SUFFIX = r"(?:MBA|B\.?Sc|M\.?Sc|B\.?Eng|M\.?Eng|B\.?A|M\.?A|Ph\.?D|LL\.?M|MdB|Jr|Sr|II|III)\.?"
_NAME_TAIL = regex.compile(
    rf"(?:-(?:{_PARTICLE}\b[ ]?)?{_NAME_WORD}|[ ](?:{_PARTICLE}[ ])+{_NAME_WORD}|[ ]{_PARTICLE}(?=[ ]\p{{Lu}})"
    rf"|,?[ ]{_SUFFIX}(?![\p{{L}}]))+"
)
# A title is followed by the name it introduces: "Prof. Ana Margraf", "Dr. med. Jan Weber".
_TITLE_TAIL = regex.compile(rf"(?:[ ](?:med\.|rer\.[ ]nat\.|h\.c\.|{_PARTICLE}))*(?:[ ]{_NAME_WORD})+")
_NAME_HEAD = regex.compile(rf"(?:(?<=^|[ (])(?:{_PARTICLE}[ ])+)$")
_PHONE_HEAD = regex.compile(r"(?:(?<![\w+])(?:\+|00)\d{1,3}[ ]?(?:\(0\)[ ]?)?|\(0\)[ ]?|\(\d{1,5}\)[ ]?[-]?)$")


def extend(text: str, hits: list[Hit]) -> list[Hit]:
    out = []
    for h in hits:
        start, end = h.start, h.end
        if h.entity in NAME_ENTITIES:
            while m := _NAME_TAIL.match(text, end):
                if m.end() == end:
                    break
                end = m.end()
            if m := _NAME_HEAD.search(text[:start]):
                start = m.start()
        elif h.entity == "PHONE_NUMBER" and (m := _PHONE_HEAD.search(text[:start])):
            start = m.start()
        elif h.entity == "TITLE" and (m := _TITLE_TAIL.match(text, end)):
            # the title and the name after it are one person
            end = m.end()
            while (t := _NAME_TAIL.match(text, end)) and t.end() > end:
                end = t.end()
            out.append(Hit(start, end, "PERSON", max(h.score, 0.6)))
            continue
        out.append(Hit(start, end, h.entity, h.score) if (start, end) != (h.start, h.end) else h)
    return out
