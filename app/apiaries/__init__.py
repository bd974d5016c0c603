"""Apiaries: the places hives stand, their members and roles, and invitations into them."""
