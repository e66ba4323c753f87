"""Python client for the Contoso.Retail services, generated from the same protos/ as every other client.

    from contoso_retail_client import ServicesClient
    with ServicesClient(customer="alice") as client:  # DevHost's addresses, a development token for alice
        order = client.place_order({"KB-001": 1})
"""
from .client import ServicesClient, StockLevel, StockWatch, required_scope
from .errors import ErrorDetails, error_details
from .tokens import DEVELOPMENT_KEY, dev_token

__all__ = ["DEVELOPMENT_KEY", "ErrorDetails", "ServicesClient", "StockLevel", "StockWatch", "dev_token", "error_details", "required_scope"]
