"""The web pages behind `handouts serve`: the front desk and the content editors' preview."""
