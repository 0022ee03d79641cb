"""The anonymous public directory of ``public`` resources and its HSDS 3.0 feed."""
