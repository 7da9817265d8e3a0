"""Special functions, Bessel functions, linear algebra, packing and fixed-step iterations.

This layer imports nothing from expfam.
"""
