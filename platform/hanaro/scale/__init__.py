"""A national-shape data set for benchmarks (issue 14): ``flask scale seed``, scripts/scale-seed."""
