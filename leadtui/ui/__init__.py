"""The Textual screen: only presentation; every rule and query is behind the service."""
