"""The PyTorch engine: the model as an nn.Module and the training step."""
