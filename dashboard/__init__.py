"""The web dashboard (static files served by the API): nurse wall, patient view, session report."""
