"""What the generated-input tests send: any JSON a client could, the odd parts included."""

from hypothesis import strategies as st

# Integers past 64 bits are JSON too: the standard library's encoder sends them.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
