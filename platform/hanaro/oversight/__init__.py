"""Facility oversight (지도점검·행정처분·사회서비스평가): see ``models`` for who sees what."""
