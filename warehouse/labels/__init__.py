"""Labels (bin, item, SSCC pallet) and printing, and camera-frame decoding for handhelds, over HTTP.

The work is done in ``hardware/``; this package looks the records up and speaks HTTP.
"""
