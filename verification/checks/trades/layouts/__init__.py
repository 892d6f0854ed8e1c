"""Every export layout Lossproof reads, one module each; detected by header (reading.py).

The README's table of known layouts is generated from this list (`manage.py trade_layouts`).
"""

from verification.checks.trades.layouts import (
    binance_classic,
    binance_orders,
    binance_trades,
    binance_transactions,
    bybit_spot,
    coinbase,
    coinbase_pro_account,
    coinbase_pro_fills,
    ftx_trades,
    kraken_ledgers,
    kraken_trades,
    kucoin_orders_2020,
    kucoin_orders_2023,
    kucoin_trades_2021,
    kucoin_trades_2023,
    okx_trades,
)

LAYOUTS = (
    binance_trades.LAYOUT, binance_classic.LAYOUT, binance_orders.LAYOUT, binance_transactions.LAYOUT,
    kucoin_trades_2021.LAYOUT, kucoin_orders_2020.LAYOUT,
    kucoin_trades_2023.LAYOUT, kucoin_orders_2023.LAYOUT,
    coinbase.LAYOUT_2020, coinbase.LAYOUT_2021, coinbase.LAYOUT_2023,
    coinbase_pro_fills.LAYOUT, coinbase_pro_account.LAYOUT,
    kraken_ledgers.LAYOUT, kraken_trades.LAYOUT,
    okx_trades.LAYOUT, bybit_spot.LAYOUT, ftx_trades.LAYOUT, ftx_trades.LAYOUT_API,
)

