"""The trainer loop, learning-rate schedules and run directories."""
