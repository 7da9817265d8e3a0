"""Fisher products, natural gradients, mirror descent and Gauss-Newton."""
