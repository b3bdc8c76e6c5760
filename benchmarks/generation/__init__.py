"""The VAE as a generative model: realism, interpolation, quality against SDV."""
