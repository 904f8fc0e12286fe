"""The lectures' arithmetic, for teaching: numpy only, used by `apps/`.

`kerasvision.teaching.arithmetic` gathers every public name; the topics live in
`shapes`, `parameters`, `connectivity`, `convolution` and `losses`.
"""
