"""Explanations: why a person was recommended an item, verified by removal."""
