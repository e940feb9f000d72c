"""The AI chat loop: model providers behind one small interface, turns, the worker, streaming."""
