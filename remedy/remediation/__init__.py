"""What a ticket remediates (app, bundle id, target version) and how far the fleet has got."""
