"""The digitised rulebook (考评指标细则) and the question matcher; knows nothing of transports."""
