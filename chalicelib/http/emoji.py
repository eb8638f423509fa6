"""Is a string exactly one emoji (one grapheme cluster people see as a single emoji)? Without a dependency.

Accepted forms (Unicode TS #51's emoji sequences, checked structurally):
- a pictograph, optionally followed by a presentation selector (U+FE0F or U+FE0E) and/or a skin tone (U+1F3FB–1F3FF);
- a flag: exactly two regional indicators (U+1F1E6–1F1FF);
- a keycap: 0-9, # or *, optionally U+FE0F, then U+20E3;
- a subdivision flag: U+1F3F4, tag characters (U+E0020–E007E), cancel tag U+E007F;
- a ZWJ sequence: such pictographs (a flag may be one) joined by U+200D, at most 8 of them.
Anything else — plain text, two emoji, a lone joiner or modifier after text, control characters — is refused.
The pictographs are the ranges where Unicode places emoji (Extended_Pictographic as of Unicode 15, widened to whole
blocks where future emoji go), so a new emoji in those blocks is accepted without an update here.
"""
from __future__ import annotations

ZWJ = 0x200D
VS16, VS15 = 0xFE0F, 0xFE0E
KEYCAP = 0x20E3
CANCEL_TAG = 0xE007F
MAX_CODE_POINTS = 40  # the longest emoji in use (family, kiss with skin tones) are well under it
MAX_ZWJ_PARTS = 8

_PICTOGRAPHIC = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122), (0x2139, 0x2139),
    (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328), (0x2388, 0x2388), (0x23CF, 0x23CF),
    (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0),
    (0x25FB, 0x25FE), (0x2600, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50),
    (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F), (0x1F16C, 0x1F171), (0x1F17E, 0x1F17F),
    (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
)


def _pictographic(code: int) -> bool:
    return any(low <= code <= high for low, high in _PICTOGRAPHIC)


def _regional(code: int) -> bool:
    return 0x1F1E6 <= code <= 0x1F1FF


def _skin_tone(code: int) -> bool:
    return 0x1F3FB <= code <= 0x1F3FF


def _tag(code: int) -> bool:
    return 0xE0020 <= code <= 0xE007E


def _element(codes: list[int], at: int) -> int | None:
    """Where one emoji element starting at `at` ends, or None when none starts there."""
    if at >= len(codes):
        return None
    code = codes[at]
    if _regional(code):
        return at + 2 if at + 1 < len(codes) and _regional(codes[at + 1]) else None
    if code < 0x80 and chr(code) in "0123456789#*":
        end = at + 1
        if end < len(codes) and codes[end] == VS16:
            end += 1
        return end + 1 if end < len(codes) and codes[end] == KEYCAP else None
    if not _pictographic(code):  # skin tones are not: one alone is refused
        return None
    end = at + 1
    if code == 0x1F3F4 and end < len(codes) and _tag(codes[end]):  # a subdivision flag
        while end < len(codes) and _tag(codes[end]):
            end += 1
        return end + 1 if end < len(codes) and codes[end] == CANCEL_TAG else None
    if end < len(codes) and codes[end] in (VS16, VS15):
        end += 1
    if end < len(codes) and _skin_tone(codes[end]):
        end += 1
    return end


def is_single_emoji(text: str) -> bool:
    codes = [ord(char) for char in text]
    if not codes or len(codes) > MAX_CODE_POINTS:
        return False
    end = _element(codes, 0)
    parts = 1
    while end is not None and end < len(codes):
        if codes[end] != ZWJ or parts == MAX_ZWJ_PARTS:
            return False
        end = _element(codes, end + 1)
        parts += 1
    return end == len(codes)
