"""Scripted test doubles for model traffic: an OpenAI-compatible loopback server and a LiteLLM provider."""
