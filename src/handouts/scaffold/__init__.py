"""Scaffold: start a project (`handouts init`) and add a document or a brand to one (`handouts new`)."""
